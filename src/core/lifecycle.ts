// Every long-lived component can be closed gracefully (flush, undo OS changes) and destroyed by force.
export interface Component {
  readonly name: string;
  /** Graceful and idempotent: flush, write open sessions, undo what was changed in the OS. */
  close(): Promise<void>;
  /** Forced and idempotent: release everything now. */
  destroy(): void;
  /** Reopen output files (SIGHUP, for logrotate). */
  reopen?(): void;
}

/** Makes close() and destroy() idempotent around the given implementations. */
export function component(
  name: string,
  close: () => Promise<void>,
  destroy: () => void = () => {},
): Component {
  let closing: Promise<void> | undefined;
  let destroyed = false;
  return {
    name,
    close: () => (closing ??= close()),
    destroy: () => {
      if (destroyed) return;
      destroyed = true;
      destroy();
    },
  };
}
