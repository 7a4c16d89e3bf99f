const descriptions: Record<string, string> = {
  Synthesis: 'Generate samples that activate missing features, each verified by re-encoding.',
  Compare: 'Feature spaces of different model families side by side.',
};

/** A section of the workbench that this build does not offer yet; the CLI lists what exists. */
export function PlannedPage({ name }: { name: string }) {
  return (
    <div className="page">
      <section className="panel">
        <h2>{name}</h2>
        <p>{descriptions[name]}</p>
        <p className="muted">Not available in this build yet.</p>
      </section>
    </div>
  );
}
