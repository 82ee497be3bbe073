/** How a command was invoked: with the server's own argument object, or from a menu or the palette. */

import * as vscode from 'vscode';

/** Arguments in the server's own shape (a keybinding, another extension, a code action);
 * menus pass a URI, the palette nothing. */
export function isServerArgs(value: unknown): value is object {
  return value !== null && typeof value === 'object' && !(value instanceof vscode.Uri);
}
