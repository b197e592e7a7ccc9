// The script studio's code editor: CodeMirror 6 with YAML highlighting and line diagnostics, bundled by
// esbuild into ../static/studio-editor.js (see README.md here). The page talks to it through window.StudioEditor.
import { EditorView, basicSetup } from "codemirror";
import { yaml } from "@codemirror/lang-yaml";
import { setDiagnostics, lintGutter } from "@codemirror/lint";

function create(parent, text, onChange) {
  const view = new EditorView({
    doc: text,
    parent,
    extensions: [
      basicSetup,
      yaml(),
      lintGutter(),
      EditorView.updateListener.of((update) => {
        if (update.docChanged) onChange(view.state.doc.toString());
      }),
    ],
  });
  return {
    view,
    getText: () => view.state.doc.toString(),
    setText(value) {
      view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: value } });
    },
    // errors: [{line, message}] with 1-based lines, as `voicebot dialogs check` reports them
    showErrors(errors) {
      const doc = view.state.doc;
      const diagnostics = errors
        .filter((e) => e.line >= 1 && e.line <= doc.lines)
        .map((e) => {
          const line = doc.line(e.line);
          return { from: line.from, to: line.to, severity: "error", message: e.message };
        });
      view.dispatch(setDiagnostics(view.state, diagnostics));
    },
  };
}

window.StudioEditor = { create };
