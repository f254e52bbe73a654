import 'dotenv/config';
import '../quiet-aws-sdk';
import 'reflect-metadata';
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { buildOpenApiDocument, createHttpApp } from '../app.setup';
import { loadConfig } from '../config';

/** The committed OpenAPI document, at the repository root (npm scripts run there). */
const OPENAPI_PATH = resolve(process.cwd(), 'openapi.json');

/** `npm run openapi:sync`: regenerates openapi.json from the code (boots the app: needs PostgreSQL, Redis and .env). */
async function main(): Promise<void> {
  const config = loadConfig();
  const app = await createHttpApp(config, ['error']);
  await app.init();
  writeFileSync(OPENAPI_PATH, `${JSON.stringify(buildOpenApiDocument(app), null, 2)}\n`);
  await app.close();
  console.log(`wrote ${OPENAPI_PATH}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
