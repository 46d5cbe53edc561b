# Build stage: compile TypeScript with the dev dependencies.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# The lock names the workspace packages: npm ci installs them from their package.json.
COPY clients/typescript/package.json ./clients/typescript/
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY migrations ./migrations
# The demo page: esbuild bundles web/ with the client's TypeScript sources into dist/web.
COPY scripts/build-web.ts ./scripts/
COPY clients/typescript/src ./clients/typescript/src
COPY web ./web
RUN npm run build

# Runtime stage: production dependencies and the compiled code only, as a non-root user.
FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
# dist/src is the compiled server, dist/web the demo page it serves at /.
COPY --from=build /app/dist ./dist
COPY catalog ./catalog
RUN mkdir -p /app/data && chown node:node /app/data
USER node
EXPOSE 3000
CMD ["node", "--max-semi-space-size=32", "dist/src/main.js"]
