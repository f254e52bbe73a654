import 'dotenv/config';
import { Client } from 'pg';
import { loadConfig } from '../config/app.config';

/**
 * Creates the database named in DATABASE_URL when it does not exist (connecting to the server's
 * `postgres` database with the same credentials). Exit code 3 when the server refuses the login.
 */
async function main(): Promise<void> {
  const target = new URL(loadConfig({ ...process.env, SECRETS_KEY: 'x'.repeat(32) }).databaseUrl);
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
  if (rowCount === 0) {
    await client.query(`CREATE DATABASE "${name.replace(/"/g, '""')}"`);
    console.log(`created database ${name}`);
  }
  await client.end();
}

void main();
