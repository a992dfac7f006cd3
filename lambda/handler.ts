import { createHandler, type InvocationContext } from './app.js';
import { createRotationHandler } from './rotation-handler.js';

/**
 * The Lambda entry points: one bundle, two handlers (production wiring only). Each reads its own
 * environment, so each is built only for the function that runs it: at init for the handler
 * Lambda names in `_HANDLER` (a bad variable fails the init), on first use otherwise.
 */
function entry<T>(name: string, create: () => (event: unknown, context: InvocationContext) => Promise<T>) {
  let built = process.env._HANDLER?.endsWith(`.${name}`) ? create() : undefined;
  return (event: unknown, context: InvocationContext): Promise<T> => (built ??= create())(event, context);
}

/** `index.handler`: the refresher. */
export const handler = entry('handler', createHandler);
/** `index.rotationHandler`: the client secret rotation (Secrets Manager's four steps and retireCheck). */
export const rotationHandler = entry('rotationHandler', createRotationHandler);
