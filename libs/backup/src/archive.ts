import { execFile } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export function isTarball(path: string): boolean {
  return /\.(tar\.gz|tgz)$/i.test(path);
}

/**
 * Packs a dump directory into a .tar.gz whose top level is the directory's content (so
 * `tar xzf backup.tar.gz -C dump && mongorestore dump` works). Uses the system tar (POSIX, present in
 * every image we ship), streaming, no second copy in memory.
 */
export async function packDirectory(dir: string, archive: string): Promise<void> {
  await run('tar', ['-czf', resolve(archive), '-C', resolve(dir), '.'], { maxBuffer: 16 * 1024 * 1024 });
}

export async function unpackArchive(archive: string): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'chat-restore-'));
  try {
    await run('tar', ['-xzf', resolve(archive), '-C', dir], { maxBuffer: 16 * 1024 * 1024 });
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Where to write a dump: the target directory itself, or a scratch directory next to the tarball. */
export async function dumpWorkspace(target: string): Promise<{ dir: string; finish: () => Promise<void>; abort: () => Promise<void> }> {
  if (!isTarball(target)) return { dir: resolve(target), finish: async () => undefined, abort: async () => undefined };
  const parent = dirname(resolve(target));
  await stat(parent); // fail early when the folder does not exist
  const dir = await mkdtemp(join(tmpdir(), `chat-${basename(target).replace(/\W+/g, '_')}-`));
  return {
    dir,
    finish: async () => {
      try {
        await packDirectory(dir, target);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
    abort: () => rm(dir, { recursive: true, force: true }),
  };
}
