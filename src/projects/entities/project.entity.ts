import { Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';

/** A project: the unit of isolation. Every event, key and export belongs to exactly one. */
@Entity('projects')
export class Project {
  /** 24 lower-case hex characters, like Connect's project ids. */
  @PrimaryColumn({ type: 'char', length: 24 })
  id: string;

  @Column({ type: 'text' })
  name: string;

  /** The master key, encrypted with SecretBox (it must stay recoverable to decrypt filtered keys). */
  @Column({ name: 'master_key_encrypted', type: 'text' })
  masterKeyEncrypted: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;
}
