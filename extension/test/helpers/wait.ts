// Waiting in the extension's tests: for real sockets to deliver, or for a
// condition to hold (the project's one polling helper, with a short default
// deadline for in-process conditions).

import { waitUntil } from '../../../test/fixtures/wait';

export { sleep } from '../../../test/fixtures/wait';

/** Waits until `probe` holds; throws naming `what` after `ms`. */
export const until = (what: string, probe: () => boolean, ms = 10_000): Promise<void> => waitUntil(what, probe, ms);
