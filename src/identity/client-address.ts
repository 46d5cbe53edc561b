import { isIPv4, isIPv6 } from 'node:net';

/**
 * The group a client address is limited as: an IPv4 address on its own (/32), an IPv6 address
 * by its /64 prefix (one subscriber usually holds a whole /64, so counting each of its 2^64
 * addresses apart would limit nothing), an IPv4-mapped IPv6 address as the IPv4 address it
 * carries. Anything else (no address known) is one group of its own.
 */
export function addressGroup(address: string): string {
  const bare = address.split('%', 1)[0]; // drop an IPv6 zone id (fe80::1%eth0)
  if (isIPv4(bare)) return `${bare}/32`;
  if (!isIPv6(bare)) return 'unknown';
  const groups = expandIPv6(bare);
  if (groups.slice(0, 5).every((g) => g === '0') && groups[5] === 'ffff') {
    const [hi, lo] = [parseInt(groups[6], 16), parseInt(groups[7], 16)];
    return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}/32`;
  }
  return `${groups.slice(0, 4).join(':')}::/64`;
}

/** The eight 16-bit groups of a valid IPv6 address, lower-case hex without leading zeros. */
function expandIPv6(address: string): string[] {
  let text = address.toLowerCase();
  // A trailing dotted IPv4 part stands for the last two groups.
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number);
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.split('::');
  const left = head ? head.split(':') : [];
  const right = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const missing = tail === undefined ? 0 : 8 - left.length - right.length;
  return [...left, ...Array<string>(missing).fill('0'), ...right].map((g) => parseInt(g, 16).toString(16));
}
