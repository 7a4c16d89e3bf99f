import type { ChatTurn, SampleRow } from '../../../shared/datasetTypes.ts';

function Turns({ turns }: { turns: ChatTurn[] }) {
  return (
    <>
      {turns.map((turn, i) => (
        <div key={i} className={`turn turn-${turn.role}`}>
          <div className="turn-role">{turn.role}</div>
          <div className="turn-content">{turn.content}</div>
        </div>
      ))}
    </>
  );
}

/** One sample in full: its turns, pair sides or A/B answers, label and metadata. Ordinals and lines are identifiers, shown without grouping (as feature ids are). */
export function SampleDetail({ sample, onClose }: { sample: SampleRow; onClose(): void }) {
  return (
    <aside className="sample-detail" data-testid="sample-detail">
      <div className="detail-head">
        <strong>
          Sample #{sample.ordinal} · line {sample.sourceLine}
        </strong>
        <button type="button" onClick={onClose}>
          Close
        </button>
      </div>
      {sample.label !== undefined ? <div className="tag">label: {sample.label}</div> : null}
      <Turns turns={sample.turns} />
      {sample.pair?.kind === 'preference' ? (
        <div className="pair">
          <h4>chosen</h4>
          <Turns turns={sample.pair.chosen} />
          <h4>rejected</h4>
          <Turns turns={sample.pair.rejected} />
        </div>
      ) : null}
      {sample.pair?.kind === 'ab' ? (
        <div className="pair">
          <div>
            answer matching behaviour: <code>{sample.pair.matching}</code>
          </div>
          <div>
            answer not matching: <code>{sample.pair.notMatching}</code>
          </div>
        </div>
      ) : null}
      {sample.meta !== undefined ? <pre className="meta">{JSON.stringify(sample.meta, null, 2)}</pre> : null}
      <div className="muted">content hash {sample.contentHash}</div>
    </aside>
  );
}
