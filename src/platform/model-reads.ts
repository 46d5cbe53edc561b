import { Utils, type Attributes, type FindOptions, type Model, type ModelStatic } from 'sequelize';
import { oneOffStatement } from './pooled-query.js';
import type { ReplicaReads } from './replica-reads.js';

interface QueryGenerator {
  selectQuery(table: unknown, options: object, model: unknown): string;
}

/**
 * A lag-tolerant read of a model (ledger pages, operator lists): the finder's own SQL, as
 * Sequelize's query generator writes it for `findAll` (attributes aliased to their names, values
 * escaped into the text), sent where `reads` sends it (a replica within the lag limit, else the
 * primary) as an unnamed statement. Resolves plain rows keyed by attribute name, as `findAll`
 * with `raw: true` does (through the same type parsers). Unset `reads`: `findAll` on the primary.
 * Only plain finders: attributes, where, order and limit of the model itself (no includes or
 * scopes, which `findAll` would expand first).
 */
export async function findLagTolerant<M extends Model, R extends object>(
  model: ModelStatic<M>,
  options: FindOptions<Attributes<M>>,
  reads: ReplicaReads | undefined,
): Promise<R[]> {
  if (!reads) return (await model.findAll({ ...options, raw: true })) as unknown as R[];
  const mapped = (Utils as unknown as { mapFinderOptions(options: object, model: unknown): object }).mapFinderOptions({ ...options, raw: true }, model);
  const generator = (model.sequelize!.getQueryInterface() as unknown as { queryGenerator: QueryGenerator }).queryGenerator;
  return reads.query<R>(oneOffStatement(generator.selectQuery(model.getTableName(), mapped, model)), []);
}
