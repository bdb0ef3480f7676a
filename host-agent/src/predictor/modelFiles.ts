// Model files on disk: <modelDir>/<domain>/<version>.json, one directory per
// domain (a pooled model is written into each of its domains' directories).
// The newest model of a domain is the greatest file name: versions start
// with their UTC creation time (model.ts newModelVersion).
//
// Writes are atomic (temporary file in the same directory, fsync, rename,
// fsync of the directory): a crash leaves the old model or the new one,
// never half a file. Reads validate (model.ts): a corrupt file is a
// ModelError naming it.

import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { DOMAIN_NAME } from '../protocol/api';
import { ModelError, parseModel, type HmmModel } from '../hmm/model';
import { processAlive } from '../processes';

const MODEL_FILE = /^[A-Za-z0-9][A-Za-z0-9_.-]*\.json$/;

function domainDir(modelDir: string, domain: string): string {
  if (!DOMAIN_NAME.test(domain)) throw new Error(`not a domain name: ${JSON.stringify(domain)}`);
  return join(modelDir, domain);
}

/** Writes `text` to `path` atomically (same-directory temporary file, fsync, rename, directory fsync). */
export function writeFileAtomic(path: string, text: string, mode = 0o640): void {
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.tmp-${process.pid}-${Date.now()}`);
  const fd = openSync(tmp, 'wx', mode);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    try {
      unlinkSync(tmp);
    } catch {
      // nothing to clean
    }
    throw e;
  }
  closeSync(fd);
  try {
    renameSync(tmp, path);
  } catch (e) {
    try {
      unlinkSync(tmp);
    } catch {
      // nothing to clean
    }
    throw e;
  }
  try {
    const dfd = openSync(dir, 'r');
    try {
      fsyncSync(dfd);
    } finally {
      closeSync(dfd);
    }
  } catch {
    // a directory fsync is not possible everywhere; the rename itself is atomic
  }
}

export function serializeModel(m: HmmModel): string {
  return JSON.stringify(m, null, 1) + '\n';
}

/** Installs a model as `domain`'s newest; keeps the `keep` newest files of the domain. Returns the path. */
export function writeModel(modelDir: string, domain: string, model: HmmModel, keep = 10): string {
  const dir = domainDir(modelDir, domain);
  mkdirSync(dir, { recursive: true, mode: 0o750 });
  removeStaleTemporaries(dir);
  const path = join(dir, `${model.version}.json`);
  writeFileAtomic(path, serializeModel(model));
  const files = modelFiles(dir);
  for (const old of files.slice(0, Math.max(0, files.length - keep))) {
    try {
      unlinkSync(join(dir, old));
    } catch {
      // already gone
    }
  }
  return path;
}

const TEMPORARY = /^\..+\.tmp-(\d+)-\d+$/;

/** Removes the temporary files of writers that died mid-write (killed agents); a live writer's are left alone. */
function removeStaleTemporaries(dir: string): void {
  for (const f of readdirSync(dir)) {
    const m = TEMPORARY.exec(f);
    if (!m || Number(m[1]) === process.pid || processAlive(Number(m[1]))) continue;
    try {
      unlinkSync(join(dir, f));
    } catch {
      // another writer removed it first
    }
  }
}

/** Model file names of a directory, oldest first; [] when it does not exist. */
function modelFiles(dir: string): string[] {
  try {
    return readdirSync(dir).filter((f) => MODEL_FILE.test(f)).sort();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
}

/** Reads and validates a model file; ModelError (naming the file) when it is unreadable or invalid. */
export function readModelFile(path: string): HmmModel {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ModelError(`model ${path}: cannot read: ${(e as Error).message}`);
  }
  return parseModel(text, path);
}

/** The path of `domain`'s newest model file, null when it has none. */
export function newestModelPath(modelDir: string, domain: string): string | null {
  const dir = domainDir(modelDir, domain);
  const files = modelFiles(dir);
  return files.length ? join(dir, files[files.length - 1]) : null;
}

/** `domain`'s newest model, null when it has none; ModelError when that file is corrupt (no silent fallback to an older one). */
export function readNewestModel(modelDir: string, domain: string): { model: HmmModel; path: string } | null {
  const path = newestModelPath(modelDir, domain);
  return path ? { model: readModelFile(path), path } : null;
}
