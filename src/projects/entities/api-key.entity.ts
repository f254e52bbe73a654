import { Check, Column, CreateDateColumn, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import { Project } from './project.entity';

/** Key types of Connect docs, "HTTP API" and what each may do. */
export enum KeyType {
  Master = 'master',
  PushQuery = 'push_query',
  Push = 'push',
  Query = 'query',
}

/** A permission an endpoint needs. `master` is the master key's own: deleting collections. */
export type Permission = 'push' | 'query' | 'master';

export const KEY_PERMISSIONS: Record<KeyType, readonly Permission[]> = {
  [KeyType.Master]: ['push', 'query', 'master'],
  [KeyType.PushQuery]: ['push', 'query'],
  [KeyType.Push]: ['push'],
  [KeyType.Query]: ['query'],
};

/** An API key, stored only as the SHA-256 of its text (keys are 128-bit random, so no salt is needed). */
@Entity('api_keys')
@Index('api_keys_project_id_idx', ['projectId'])
@Check('api_keys_key_type_check', `key_type IN ('master', 'push_query', 'push', 'query')`)
export class ApiKey {
  @PrimaryColumn({ name: 'key_hash', type: 'char', length: 64 })
  keyHash: string;

  @Column({ name: 'project_id', type: 'char', length: 24 })
  projectId: string;

  @ManyToOne(() => Project, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'project_id', foreignKeyConstraintName: 'api_keys_project_id_fkey' })
  project?: Project;

  @Column({ name: 'key_type', type: 'text' })
  keyType: KeyType;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;
}
