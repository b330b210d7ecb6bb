// Shared by the tests of flows at rest (test/unit/at-rest-*.test.ts): a fresh
// FlowApp for a TLS flow from 10.0.0.2 to 203.0.113.10, and two judgements.

import { FlowApp } from '../../agent/src/names/flow-app.js';
import type { Judgement } from '../../agent/src/policy/verdict.js';

export const fresh = (id = 1) => new FlowApp(id, 40000, 443, 'TCP', false, 0x0a000002, 0, 0, 0, 0xcb00710a, 0, 0, 0);

export const MEDIUM: Judgement = { verdict: 'medium', reasons: ['not_allowlisted'], matched: {} };
export const HIGH: Judgement = { verdict: 'high', reasons: ['deny_domain'], matched: { deny_domain: 'dji.com' } };
