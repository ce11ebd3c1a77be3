/**
 * Takes a screenshot of the X display in $DISPLAY (the root window, through
 * GDK) for test/examples/gtk.test.ts, saves it as a PNG, and prints one
 * JSON line describing the regions asked for:
 *
 *   node dist/test/examples/gtk-screenshot.js out.png '{"label":[x,y,w,h]}'
 *   → {"width":640,"height":480,"regions":{"label":{"dark":312,"hash":"9c1f..."}}}
 *
 * `dark` counts pixels darker than mid-grey (text on GTK's light theme),
 * `hash` changes when anything in the region does.
 */
import { createRequire } from 'node:module';

interface Pixbuf {
  getWidth(): number;
  getHeight(): number;
  getNChannels(): number;
  getRowstride(): number;
  getPixels(): ArrayLike<number>;
  savev(path: string, type: string, keys: string[], values: string[]): boolean;
}
interface Gdk {
  init(argv: string[]): void;
  getDefaultRootWindow(): { getWidth(): number; getHeight(): number };
  pixbufGetFromWindow(window: unknown, x: number, y: number, width: number, height: number): Pixbuf | null;
}

const [path, regionsJson = '{}'] = process.argv.slice(2);
if (path === undefined) {
  console.error('usage: gtk-screenshot.js OUT.png [REGIONS_JSON]');
  process.exit(2);
}
const gi = createRequire(import.meta.url)('node-gtk') as { require(namespace: 'Gdk', version: '3.0'): Gdk };
const Gdk = gi.require('Gdk', '3.0');
Gdk.init([]);
const root = Gdk.getDefaultRootWindow();
const shot = Gdk.pixbufGetFromWindow(root, 0, 0, root.getWidth(), root.getHeight());
if (shot === null) throw new Error(`could not read the screen of ${process.env['DISPLAY']}`);
shot.savev(path, 'png', [], []);
const pixels = shot.getPixels();
const channels = shot.getNChannels();
const stride = shot.getRowstride();
const regions: Record<string, { dark: number; hash: string }> = {};
for (const [name, rect] of Object.entries(JSON.parse(regionsJson) as Record<string, [number, number, number, number]>)) {
  const [x0, y0, width, height] = rect;
  let dark = 0;
  let hash = 0x811c9dc5;
  for (let y = Math.max(0, y0); y < Math.min(shot.getHeight(), y0 + height); y++) {
    for (let x = Math.max(0, x0); x < Math.min(shot.getWidth(), x0 + width); x++) {
      const i = y * stride + x * channels;
      const r = pixels[i] as number;
      const g = pixels[i + 1] as number;
      const b = pixels[i + 2] as number;
      if (0.299 * r + 0.587 * g + 0.114 * b < 128) dark++;
      for (const v of [r, g, b]) hash = Math.imul(hash ^ v, 0x01000193) >>> 0;
    }
  }
  regions[name] = { dark, hash: hash.toString(16) };
}
console.log(JSON.stringify({ width: shot.getWidth(), height: shot.getHeight(), regions }));
