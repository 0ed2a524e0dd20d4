package main

// FerretDB 1.24.2 logs every SQL statement as `l.With(slog.Any("args", args)).DebugContext(ctx, ...)`
// (internal/util/fsql, before and after the statement). Logger.With hands the attributes to Handler.WithAttrs, and the
// standard text and JSON handlers format them right there - the whole document JSON of every insert and update - even
// though the Debug record that follows is dropped at level info. lazyHandler keeps what WithAttrs/WithGroup are given
// and hands it to the formatting handler only when a record at an enabled level is written, once per derived handler.

import (
	"context"
	"log/slog"
	"sync"
)

// lazyStep is one WithAttrs (attrs set) or WithGroup (group set) call, in the order they were made.
type lazyStep struct {
	attrs []slog.Attr
	group string
}

type lazyHandler struct {
	level slog.Leveler
	base  slog.Handler // the formatting handler, before any of steps
	steps []lazyStep

	once     sync.Once
	resolved slog.Handler // base with steps applied; built by the first Handle
}

// newLazyHandler wraps base, which should be built with the same level: Enabled answers from level alone.
func newLazyHandler(base slog.Handler, level slog.Leveler) *lazyHandler {
	return &lazyHandler{level: level, base: base}
}

func (h *lazyHandler) Enabled(_ context.Context, level slog.Level) bool {
	return level >= h.level.Level()
}

func (h *lazyHandler) Handle(ctx context.Context, r slog.Record) error {
	h.once.Do(func() {
		inner := h.base
		for _, s := range h.steps {
			if s.attrs != nil {
				inner = inner.WithAttrs(s.attrs)
			} else {
				inner = inner.WithGroup(s.group)
			}
		}
		h.resolved = inner
	})
	return h.resolved.Handle(ctx, r)
}

// WithAttrs keeps attrs unformatted and unresolved (a LogValuer is not called here). slog.Handler lets a handler
// retain the slice it is given.
func (h *lazyHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	if len(attrs) == 0 {
		return h
	}
	return h.with(lazyStep{attrs: attrs})
}

func (h *lazyHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	return h.with(lazyStep{group: name})
}

func (h *lazyHandler) with(s lazyStep) *lazyHandler {
	// A new backing array each time: loggers derived from one parent must not share appended steps.
	steps := make([]lazyStep, len(h.steps), len(h.steps)+1)
	copy(steps, h.steps)
	return &lazyHandler{level: h.level, base: h.base, steps: append(steps, s)}
}
