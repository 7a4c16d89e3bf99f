import { useVirtualizer } from '@tanstack/react-virtual';
import { useCallback, useEffect, useRef, useState } from 'react';
import type { DatasetSummary, SampleRow } from '../../../shared/datasetTypes.ts';
import { api } from '../api/connection.ts';
import { samplePreview } from './samplePreview.ts';

const pageSize = 200;
const rowHeight = 32;

/**
 * The samples of one dataset in a virtualized table: only visible rows are in the DOM and only
 * the pages around them are fetched, so 100k rows scroll like 100.
 */
export function SampleTable({ dataset, onOpen, openOrdinal = null }: { dataset: DatasetSummary; onOpen(sample: SampleRow): void; openOrdinal?: number | null }) {
  const scroller = useRef<HTMLDivElement>(null);
  const [pagesLoaded, setPagesLoaded] = useState<Record<number, SampleRow[]>>({});
  const requested = useRef(new Set<number>());

  useEffect(() => {
    requested.current.clear();
    setPagesLoaded({});
  }, [dataset.id]);

  const virtualizer = useVirtualizer({ count: dataset.sampleCount, getScrollElement: () => scroller.current, estimateSize: () => rowHeight, overscan: 20 });
  const items = virtualizer.getVirtualItems();

  const ensurePage = useCallback(
    (page: number) => {
      if (requested.current.has(page)) return;
      requested.current.add(page);
      void api.call('datasets.samples', { id: dataset.id, offset: page * pageSize, limit: pageSize }).then((result) => {
        setPagesLoaded((loaded) => ({ ...loaded, [page]: result.samples }));
      });
    },
    [dataset.id],
  );

  const first = items[0]?.index ?? 0;
  const last = items[items.length - 1]?.index ?? 0;
  useEffect(() => {
    for (let page = Math.floor(first / pageSize); page <= Math.floor(last / pageSize); page++) ensurePage(page);
  }, [first, last, ensurePage]);

  return (
    <div className="sample-table">
      <div className="sample-row sample-header">
        <span className="col-n">#</span>
        <span className="col-line">line</span>
        <span className="col-turns">turns</span>
        <span className="col-text">first user turn</span>
      </div>
      <div ref={scroller} className="sample-scroll" data-testid="sample-scroll">
        <div style={{ height: virtualizer.getTotalSize(), position: 'relative' }}>
          {items.map((item) => {
            const sample = pagesLoaded[Math.floor(item.index / pageSize)]?.[item.index % pageSize];
            return (
              <div
                key={item.key}
                className={`sample-row${item.index === openOrdinal ? ' selected' : ''}`}
                data-testid="sample-row"
                role="button"
                tabIndex={0}
                aria-pressed={item.index === openOrdinal}
                style={{ position: 'absolute', top: 0, left: 0, right: 0, height: rowHeight, transform: `translateY(${item.start}px)` }}
                onClick={() => sample && onOpen(sample)}
                onKeyDown={(event) => {
                  if ((event.key === 'Enter' || event.key === ' ') && sample) {
                    event.preventDefault();
                    onOpen(sample);
                  }
                }}
              >
                <span className="col-n">{item.index}</span>
                <span className="col-line">{sample?.sourceLine ?? ''}</span>
                <span className="col-turns">{sample?.turns.length ?? ''}</span>
                <span className="col-text">{sample ? samplePreview(sample) : '…'}</span>
              </div>
            );
          })}
        </div>
      </div>
    </div>
  );
}
