/** What the Python side says: the server's command IDs, notifications and settings. */

import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as path from 'node:path';

export const REPO = path.resolve(__dirname, '..', '..', '..', '..');
export const EDITOR_CLIENT = path.join(REPO, 'editor-client');

/** The interpreter with SHIM installed: $SHIM_PYTHON, else the repository's .venv. */
export function shimPython(): string {
  const fromEnv = process.env.SHIM_PYTHON;
  if (fromEnv) {
    return fromEnv;
  }
  const venv = path.join(REPO, '.venv', 'bin', 'python');
  if (!existsSync(venv)) {
    throw new Error(`no ${venv}: run ./scripts/test, or set SHIM_PYTHON to a Python with shim-lsp installed`);
  }
  return venv;
}

export interface PythonTruth {
  commands: string[];
  notifications: { status: string; recovery: string; risk: string };
  capability: string;
  /** Per camelCase setting, from `settings_schema()`: what package.json must say of it. */
  settings: Record<string, SettingTruth>;
}

export interface SettingTruth {
  default: unknown;
  /** A JSON schema type: "number", ["string", "null"], ... */
  type: unknown;
  /** The field's docstring in shim_lsp/settings.py, on one line. */
  description: string;
  minimum?: number;
  exclusiveMinimum?: number;
  maximum?: number;
  /** The values allowed, for a setting that is one of a list. */
  enum?: string[];
}

const SCRIPT = `
import json
from shim_lsp import notifications
from shim_lsp.server.factory import command_specs
from shim_lsp.settings import settings_schema
print(json.dumps({
    "commands": [spec.id for spec in command_specs()],
    "notifications": {"status": notifications.STATUS_NOTIFICATION, "recovery": notifications.RECOVERY_NOTIFICATION, "risk": notifications.RISK_NOTIFICATION},
    "capability": notifications.CLIENT_CAPABILITY,
    "settings": settings_schema(),
}))
`;

export function pythonTruth(): PythonTruth {
  return JSON.parse(execFileSync(shimPython(), ['-c', SCRIPT], { cwd: REPO, encoding: 'utf8' })) as PythonTruth;
}
