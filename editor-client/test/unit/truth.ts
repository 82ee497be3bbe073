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
  settings: Record<string, { default: unknown; type: string }>;
}

const SCRIPT = `
import json, attrs
from shim_lsp import notifications
from shim_lsp.server.factory import command_specs
from shim_lsp.settings import Settings, settings_to_wire
from shim_lsp.wire import to_camel
wire = settings_to_wire(Settings())
print(json.dumps({
    "commands": [spec.id for spec in command_specs()],
    "notifications": {"status": notifications.STATUS_NOTIFICATION, "recovery": notifications.RECOVERY_NOTIFICATION, "risk": notifications.RISK_NOTIFICATION},
    "capability": notifications.CLIENT_CAPABILITY,
    "settings": {to_camel(f.name): {"default": wire[to_camel(f.name)], "type": str(f.type)}
                 for f in attrs.fields(Settings)},
}))
`;

export function pythonTruth(): PythonTruth {
  return JSON.parse(execFileSync(shimPython(), ['-c', SCRIPT], { cwd: REPO, encoding: 'utf8' })) as PythonTruth;
}
