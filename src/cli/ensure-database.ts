import 'dotenv/config';
import '../quiet-aws-sdk';
import { Client } from 'pg';
import { canaryMatches, SecretBox, SECRETS_CANARY, SECRETS_CANARY_SETTING } from '../common';
import { loadSection } from '../config';

/**
 * Creates the database named in DATABASE_URL when it does not exist (connecting to the server's
 * `postgres` database with the same credentials). Exit codes: 3 when the server refuses the login;
 * 4 when the database exists but belongs to a deployment with another SECRETS_KEY (its secrets
 * canary does not decrypt), which the service would refuse to start on. Reads only the database
 * section (docs/configuration.md); SECRETS_KEY, when set, only for that check.
 *
 * With `--claim` (after the migrations), stores this SECRETS_KEY's canary when the database has
 * none yet, as the service does at start, so that the database is taken from then on; exit 4 as above.
 */
async function main(): Promise<void> {
  const target = new URL(loadSection('database').url);
  if (process.argv.includes('--claim')) {
    if (process.env.SECRETS_KEY && !(await claimDatabase(target.toString(), new SecretBox(process.env.SECRETS_KEY)))) {
      console.error(`database ${decodeURIComponent(target.pathname.slice(1))} belongs to a deployment with another SECRETS_KEY`);
      process.exit(4);
    }
    return;
  }
  const name = decodeURIComponent(target.pathname.slice(1));
  const admin = new URL(target);
  admin.pathname = '/postgres';
  const client = new Client({ connectionString: admin.toString() });
  try {
    await client.connect();
  } catch (error) {
    console.error(`cannot log in to PostgreSQL at ${target.host}: ${(error as Error).message}`);
    process.exit(3);
  }
  const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
  await (rowCount === 0 ? client.query(`CREATE DATABASE "${name.replace(/"/g, '""')}"`) : null);
  await client.end();
  if (rowCount === 0) {
    console.log(`created database ${name}`);
    return;
  }
  if (process.env.SECRETS_KEY && !(await ownsDatabase(target.toString(), new SecretBox(process.env.SECRETS_KEY)))) {
    console.error(`database ${name} belongs to a deployment with another SECRETS_KEY`);
    process.exit(4);
  }
}

/** True unless the database holds a secrets canary that this key cannot decrypt. */
async function ownsDatabase(url: string, secretBox: SecretBox): Promise<boolean> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client
      .query<{ value: string }>(`SELECT value FROM instance_settings WHERE name = $1`, [SECRETS_CANARY_SETTING])
      .catch(() => ({ rows: [] as Array<{ value: string }> })); // no table yet: a database never used
    return rows.length === 0 || canaryMatches(secretBox, rows[0].value);
  } finally {
    await client.end();
  }
}

/** Stores `secretBox`'s canary unless one is there; true when the stored canary is this key's. */
async function claimDatabase(url: string, secretBox: SecretBox): Promise<boolean> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`INSERT INTO instance_settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING`, [
      SECRETS_CANARY_SETTING,
      secretBox.encrypt(SECRETS_CANARY),
    ]);
  } finally {
    await client.end();
  }
  return ownsDatabase(url, secretBox);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
});
