import { type ReactNode, useEffect, useRef } from 'react';

interface Props {
  title: string;
  children?: ReactNode;
  confirmLabel: string;
  cancelLabel: string;
  /** Disables the confirm button (e.g. a required reason is still empty). */
  canConfirm?: boolean;
  onConfirm: () => void;
  onCancel: () => void;
  testId: string;
}

/** A modal question (the browser's own <dialog>): focus moves into it (to its first control,
 * Cancel or the reason field, never straight to the action) and stays there; Escape cancels,
 * Enter or Space on the focused button answers. Shown while mounted. */
export function ConfirmDialog(props: Props) {
  const { title, children, confirmLabel, cancelLabel, canConfirm = true, testId } = props;
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const dialog = ref.current;
    if (dialog !== null && !dialog.open) dialog.showModal();
    return () => dialog?.close();
  }, []);
  const titleId = `${testId}-title`;
  return (
    <dialog
      ref={ref}
      className="confirm-dialog"
      aria-labelledby={titleId}
      data-testid={testId}
      onCancel={(event) => {
        event.preventDefault(); // React unmounts it; the browser must not close it first
        props.onCancel();
      }}
    >
      <form
        method="dialog"
        onSubmit={(event) => {
          event.preventDefault();
          if (canConfirm) props.onConfirm();
        }}
      >
        <h2 id={titleId}>{title}</h2>
        {children}
        <div className="dialog-buttons">
          <button type="button" onClick={props.onCancel}>
            {cancelLabel}
          </button>
          <button type="submit" className="primary" disabled={!canConfirm}>
            {confirmLabel}
          </button>
        </div>
      </form>
    </dialog>
  );
}
