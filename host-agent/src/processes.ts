// Whether a process id is in use, for pid and temporary files left by a
// process that was killed (SIGKILL, power loss) before it could clean up.

/** true when `pid` is a running process (EPERM: it exists, owned by someone else). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
