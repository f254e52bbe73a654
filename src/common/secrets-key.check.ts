import { Injectable, OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { SecretBox } from './secret-box';

export const SECRETS_CANARY_SETTING = 'secrets_key_check';
/** The plaintext whose encryption under SECRETS_KEY marks which key a database belongs to. */
export const SECRETS_CANARY = 'connect-events-api secrets canary';

/** Whether `stored` (the canary row's value) was encrypted with this SecretBox's key. */
export function canaryMatches(secretBox: SecretBox, stored: string): boolean {
  try {
    return secretBox.decrypt(stored) === SECRETS_CANARY;
  } catch {
    return false;
  }
}

/**
 * Refuses to start a process whose SECRETS_KEY differs from the one this database's secrets were
 * encrypted with. Without it, such a process (a worker deployed with the wrong key, or a second
 * checkout sharing the database) would take export jobs it cannot decrypt and fail them.
 * The first process to start on a database stores an encrypted canary; every later one must read it.
 */
@Injectable()
export class SecretsKeyCheck implements OnModuleInit {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly secretBox: SecretBox,
  ) {}

  async onModuleInit(): Promise<void> {
    await this.dataSource.query(`INSERT INTO instance_settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING`, [
      SECRETS_CANARY_SETTING,
      this.secretBox.encrypt(SECRETS_CANARY),
    ]);
    const [row]: Array<{ value: string }> = await this.dataSource.query(`SELECT value FROM instance_settings WHERE name = $1`, [
      SECRETS_CANARY_SETTING,
    ]);
    if (!canaryMatches(this.secretBox, row.value)) {
      throw new Error(
        'SECRETS_KEY is not the key this database was set up with, so stored secrets (S3 credentials of pending exports, ' +
          'master keys) could not be read. Start with the original SECRETS_KEY, or point DATABASE_URL at another database.',
      );
    }
  }
}
