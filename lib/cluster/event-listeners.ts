// EventListeners: the small typed listener list behind `onEject(listener)`,
// `onStateChange(listener)` and the like. Subscribing returns a Disposable,
// so a listener is removed by the code that added it, never by name.

export interface Disposable {
  dispose(): void;
}

export class EventListeners<T> {
  private listeners: ((event: T) => void)[] = [];

  get size(): number {
    return this.listeners.length;
  }

  add(listener: (event: T) => void): Disposable {
    // Copy on write: a listener that disposes itself while being called does not skip the next one.
    this.listeners = [...this.listeners, listener];
    return {
      dispose: () => {
        this.listeners = this.listeners.filter((l) => l !== listener);
      },
    };
  }

  emit(event: T): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch {
        // A listener's bug must not break the caller's bookkeeping (an ejection half applied).
      }
    }
  }
}
