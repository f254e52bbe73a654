import type { EntityManager } from 'typeorm';

/** Delay after a job waited for its project's turn, ms (plus up to as much again at random). */
export const WAIT_TURN_DELAY_MS = 500;

/**
 * Thrown to Bull by a runner (ExportRunner, ImportRunner) whose record must wait for its project's
 * turn (takeProjectTurn): nothing ran and no attempt was counted. `delayMs` (0.5–1 s, jittered so
 * that waiting jobs do not come back together) is the delay jobRetryDelayMs gives the job.
 */
export class WaitTurnError extends Error {
  override name = 'WaitTurnError';
  readonly delayMs = WAIT_TURN_DELAY_MS + Math.round(Math.random() * WAIT_TURN_DELAY_MS);
}

/**
 * Tables of records run one per Bull job with a project's turn, and the advisory lock key that
 * serialises one project's claims on each (the exports' key is the one they always used, so
 * workers of two releases side by side still share it).
 */
const TURN_LOCKS = { exports: 'connect-export-project', event_imports: 'connect-import-project' } as const;

export type TurnTable = keyof typeof TURN_LOCKS;

/**
 * Whether a worker may start an attempt of record `id` (an export or an import) now, inside the
 * caller's transaction (which then marks it Running): `finished` when it is gone, Complete or
 * Failed; `wait` when it is Pending and its project already has `maxRunning` others Running, or
 * already has one Running while another project's record of the same deployment (QUEUE_PREFIX) waits
 * Pending with fewer Running (fair turns between projects; other deployments sharing the database
 * have their own workers); `run` otherwise. A record already Running (its worker died, or it is
 * being retried) keeps its turn: `run`. One project's claims are serialised by an advisory lock held
 * until the transaction ends, so the cap holds across every worker.
 */
export async function takeProjectTurn(
  manager: EntityManager,
  table: TurnTable,
  id: string,
  maxRunning: number,
): Promise<'run' | 'wait' | 'finished'> {
  const [target]: Array<{ project_id: string; status: string; queue_prefix: string | null }> = await manager.query(
    `SELECT project_id, status, queue_prefix FROM ${table} WHERE id = $1`,
    [id],
  );
  if (!target || (target.status !== 'Pending' && target.status !== 'Running')) return 'finished';
  if (target.status === 'Running') return 'run';
  await manager.query(`SELECT pg_advisory_xact_lock(hashtext($1), hashtext($2))`, [TURN_LOCKS[table], target.project_id]);
  const [{ running, others_first }]: Array<{ running: number; others_first: boolean }> = await manager.query(
    `WITH mine AS (
       SELECT count(*)::int AS n FROM ${table} WHERE project_id = $2 AND status = 'Running' AND id <> $1
     )
     SELECT (SELECT n FROM mine) AS running,
            EXISTS (
              SELECT 1 FROM ${table} w
               WHERE w.status = 'Pending' AND w.project_id <> $2 AND w.queue_prefix IS NOT DISTINCT FROM $3
                 AND (SELECT count(*) FROM ${table} r WHERE r.project_id = w.project_id AND r.status = 'Running') < (SELECT n FROM mine)
            ) AS others_first`,
    [id, target.project_id, target.queue_prefix],
  );
  return running >= maxRunning || others_first ? 'wait' : 'run';
}
