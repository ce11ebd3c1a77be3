/**
 * Node module-loader hooks (registered with `module.register`) that let
 * `eventide run app.ts` run TypeScript directly: `.ts`/`.mts` files are
 * transpiled on load — types are stripped, nothing is type-checked — with
 * esbuild when it is installed, else with the TypeScript compiler's
 * `transpileModule`. Both are looked up lazily so that running plain
 * JavaScript needs neither.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

type Transpile = (source: string, path: string) => Promise<{ code: string }>;
let transpile: Transpile | null = null;

async function loadTranspiler(): Promise<Transpile> {
  try {
    const esbuild = (await import('esbuild')) as typeof import('esbuild');
    return (source, path) =>
      esbuild.transform(source, { loader: 'ts', format: 'esm', sourcemap: 'inline', sourcefile: path, target: 'node20' });
  } catch {
    try {
      const ts = ((await import('typescript')) as { default: typeof import('typescript') }).default;
      return async (source, path) => ({
        code: ts.transpileModule(source, {
          fileName: path,
          compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, inlineSourceMap: true, inlineSources: true },
        }).outputText,
      });
    } catch {
      throw new Error('eventide run: to run TypeScript files, install esbuild or typescript (npm i -D esbuild)');
    }
  }
}

interface ResolveContext {
  parentURL?: string;
}
type NextResolve = (specifier: string, context: ResolveContext) => Promise<{ url: string; format?: string }>;
type NextLoad = (url: string, context: object) => Promise<{ format: string; source?: string | ArrayBuffer | Uint8Array; shortCircuit?: boolean }>;

/** Lets `import './x.js'` find `./x.ts`, as TypeScript's NodeNext resolution does. */
export async function resolve(specifier: string, context: ResolveContext, nextResolve: NextResolve): Promise<{ url: string; format?: string }> {
  try {
    return await nextResolve(specifier, context);
  } catch (error) {
    if (/^\.\.?\//.test(specifier) && /\.(m?)js$/.test(specifier)) {
      return nextResolve(specifier.replace(/\.(m?)js$/, '.$1ts'), context);
    }
    throw error;
  }
}

export async function load(url: string, context: object, nextLoad: NextLoad): Promise<{ format: string; source?: string | ArrayBuffer | Uint8Array; shortCircuit?: boolean }> {
  if (!/\.m?ts$/.test(new URL(url).pathname)) return nextLoad(url, context);
  transpile ??= await loadTranspiler();
  const path = fileURLToPath(url);
  const { code } = await transpile(await readFile(path, 'utf8'), path);
  return { format: 'module', source: code, shortCircuit: true };
}
