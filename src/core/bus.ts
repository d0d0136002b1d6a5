// The event stream: synchronous fan-out from sources and detectors to whoever subscribed to a type.
// A subscriber that throws is logged and counted, never allowed to break the producer.
import type { AnyEvent, EventType } from './events.js';

type Handler<T extends AnyEvent> = (event: T) => void;
type ByType<K extends EventType> = Extract<AnyEvent, { type: K }>;

export class EventBus {
  private readonly handlers = new Map<EventType, Handler<never>[]>();
  /** Errors thrown by subscribers, counted (exported as a metric). */
  subscriberErrors = 0;
  onError: (err: unknown) => void = () => {};

  on<K extends EventType>(type: K, handler: Handler<ByType<K>>): () => void {
    const list = this.handlers.get(type) ?? [];
    list.push(handler as Handler<never>);
    this.handlers.set(type, list);
    return () => {
      const i = list.indexOf(handler as Handler<never>);
      if (i >= 0) list.splice(i, 1);
    };
  }

  /** Subscribes to several types at once. */
  onAny(types: readonly EventType[], handler: Handler<AnyEvent>): void {
    for (const t of types) this.on(t, handler as unknown as Handler<ByType<typeof t>>);
  }

  hasListeners(type: EventType): boolean {
    return (this.handlers.get(type)?.length ?? 0) > 0;
  }

  emit(event: AnyEvent): void {
    const list = this.handlers.get(event.type);
    if (!list) return;
    for (const h of list) {
      try {
        (h as Handler<AnyEvent>)(event);
      } catch (err) {
        this.subscriberErrors++;
        this.onError(err);
      }
    }
  }
}
