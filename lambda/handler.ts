import { createHandler } from './app.js';

/** The Lambda entry point: production wiring only. */
export const handler = createHandler();
