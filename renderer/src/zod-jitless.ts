/**
 * Imported first by main.ts: zod probes `new Function` when a schema is built (to compile fast parsers). The
 * CSP forbids eval, so the probe would log a violation on every start; this turns it off before any schema
 * of the contract is constructed (module evaluation follows import order).
 */
import { z } from 'zod';

z.config({ jitless: true });
