/**
 * Virtual documents for diff views: a checkpoint's version of a file and a crashed session's
 * unsaved text, read from the server on demand (`shim-checkpoint:` and `shim-recovered:`).
 */

import * as vscode from 'vscode';
import { Scheme, ServerCommand } from '../commands';
import type { ShimServer } from '../server';

/** The file a virtual document shows a version of, and which version. */
export interface VirtualRef {
  file: vscode.Uri;
  checkpoint?: number;
  session?: string;
  /** The file did not exist: the document is empty. */
  empty?: boolean;
}

export function checkpointUri(file: vscode.Uri, checkpoint: number): vscode.Uri {
  const query = new URLSearchParams({ uri: file.toString(), checkpoint: String(checkpoint) });
  return vscode.Uri.from({ scheme: Scheme.checkpoint, path: file.path, query: query.toString() });
}

export function recoveredUri(file: vscode.Uri, session: string): vscode.Uri {
  const query = new URLSearchParams({ uri: file.toString(), session });
  return vscode.Uri.from({ scheme: Scheme.recovered, path: file.path, query: query.toString() });
}

/** An empty document standing for a file that is not on disk. */
export function missingUri(file: vscode.Uri): vscode.Uri {
  const query = new URLSearchParams({ uri: file.toString(), empty: '1' });
  return vscode.Uri.from({ scheme: Scheme.recovered, path: file.path, query: query.toString() });
}

export function parseVirtual(uri: vscode.Uri): VirtualRef | undefined {
  if (uri.scheme !== Scheme.checkpoint && uri.scheme !== Scheme.recovered) {
    return undefined;
  }
  const query = new URLSearchParams(uri.query);
  const file = query.get('uri');
  if (file === null) {
    return undefined;
  }
  const checkpoint = query.get('checkpoint');
  return {
    file: vscode.Uri.parse(file, true),
    checkpoint: checkpoint === null ? undefined : Number(checkpoint),
    session: query.get('session') ?? undefined,
    empty: query.get('empty') === '1',
  };
}

export class VirtualDocuments implements vscode.TextDocumentContentProvider {
  constructor(private readonly server: ShimServer) {}

  static register(server: ShimServer): vscode.Disposable {
    const provider = new VirtualDocuments(server);
    return vscode.Disposable.from(
      vscode.workspace.registerTextDocumentContentProvider(Scheme.checkpoint, provider),
      vscode.workspace.registerTextDocumentContentProvider(Scheme.recovered, provider),
    );
  }

  async provideTextDocumentContent(uri: vscode.Uri, token: vscode.CancellationToken): Promise<string> {
    const ref = parseVirtual(uri);
    if (ref === undefined) {
      throw new Error(`not a SHIM document: ${uri.toString()}`);
    }
    if (ref.empty) {
      return '';
    }
    if (ref.checkpoint !== undefined) {
      const found = await this.server.request<{ text: string }>(
        ServerCommand.compareWithCheckpoint,
        { checkpoint: ref.checkpoint, uri: ref.file.toString() },
        token,
      );
      return found.text;
    }
    const found = await this.server.request<{ text: string }>(
      ServerCommand.recoveredText,
      { uri: ref.file.toString(), session: ref.session },
      token,
    );
    return found.text;
  }
}
