/**
 * The few DOM types the browser demo uses, declared structurally.
 *
 * The project compiles with `lib: ["ES2023"]` and Node's types (no DOM lib,
 * so that nothing in src/ can use a browser global by accident). The demo
 * page is browser code, so it names what it needs here and reaches the
 * globals through `page()`.
 */
import type { EventTargetLike } from '../../src/browser.js';

export interface Rect {
  left: number;
  top: number;
  width: number;
  height: number;
}

export interface Element extends EventTargetLike {
  id: string;
  textContent: string | null;
  style: Record<string, string>;
  getBoundingClientRect(): Rect;
  setPointerCapture?(pointerId: number): void;
}

export interface InputElement extends Element {
  value: string;
  checked: boolean;
  disabled: boolean;
}

export interface ImageDataLike {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8ClampedArray;
}

export interface Context2D {
  fillStyle: string;
  strokeStyle: string;
  lineWidth: number;
  fillRect(x: number, y: number, w: number, h: number): void;
  clearRect(x: number, y: number, w: number, h: number): void;
  beginPath(): void;
  arc(x: number, y: number, r: number, start: number, end: number): void;
  moveTo(x: number, y: number): void;
  lineTo(x: number, y: number): void;
  fill(): void;
  stroke(): void;
  createImageData(w: number, h: number): ImageDataLike;
  putImageData(image: ImageDataLike, dx: number, dy: number, dirtyX: number, dirtyY: number, dirtyW: number, dirtyH: number): void;
}

export interface CanvasElement extends Element {
  width: number;
  height: number;
  getContext(kind: '2d'): Context2D | null;
}

/** What input handlers read from events. */
export interface UIEventLike {
  readonly type: string;
  readonly timeStamp: number;
  readonly clientX: number;
  readonly clientY: number;
  readonly pointerId: number;
  readonly key: string;
  readonly target: unknown;
}

export interface PerformanceEntryLike {
  readonly entryType: string;
  readonly startTime: number;
  readonly duration: number;
}

/** Chromium's native task scheduler (`globalThis.scheduler`, Prioritized Task Scheduling API). */
export interface SchedulerLike {
  postTask(callback: () => void, options?: { priority?: 'user-blocking' | 'user-visible' | 'background' }): Promise<unknown>;
}

export interface PageGlobals {
  document: { getElementById(id: string): Element | null; title: string };
  location: { search: string; href: string };
  performance: { now(): number };
  requestAnimationFrame(callback: (timestampMs: number) => void): number;
  setInterval(callback: () => void, ms: number): number;
  PerformanceObserver: {
    new (callback: (list: { getEntries(): PerformanceEntryLike[] }) => void): { observe(options: { type: string; buffered?: boolean }): void };
    readonly supportedEntryTypes?: readonly string[];
  };
  navigator: { scheduling?: { isInputPending?: unknown } };
  scheduler?: Partial<SchedulerLike>;
  [key: string]: unknown;
}

/** The page's globals, typed. */
export function page(): PageGlobals {
  return globalThis as unknown as PageGlobals;
}

/** The element with `id`; throws if the page lacks it. */
export function byId<T extends Element = Element>(id: string): T {
  const element = page().document.getElementById(id);
  if (element === null) throw new Error(`demo page: no element #${id}`);
  return element as T;
}
