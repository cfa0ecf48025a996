package usage

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// spill is the Writer's overflow on disk: append-only JSON lines, one
// record each, in up to two files next to each other:
//
//	usage-spill.jsonl                 the active file, appended to
//	usage-spill.replaying.jsonl       the file being written to the store
//	usage-spill.replaying.offset      how far that file has been written
//
// To replay, the owner renames the active file to the replaying one (new
// records then start a new active file), reads it a batch at a time, and
// after each batch the store took writes the offset, so that a Writer
// that stops half way — closed while the store is down again, or
// crashed — lets the next one resume there instead of writing the first
// half twice. A replayed file is removed.
//
// append may be called by any goroutine; read and commit only by the
// Writer's owner.
type spill struct {
	path, replayPath, offsetPath string
	max                          int64
	log                          *slog.Logger

	mu sync.Mutex
	f  *os.File // the active file, opened on first append
	// activeSize is the active file's size; replayLeft the bytes of the
	// replaying file not yet committed. Together they count against max.
	activeSize, replayLeft int64
	replaying              bool // the replaying file exists
	closed                 bool // the Writer closed: append opens and closes
	buf                    []byte

	// The owner's reader of the replaying file.
	r          *os.File
	br         *bufio.Reader
	readOff    int64 // offset of the next unread byte
	replaySize int64
	broken     bool // the replaying file cannot be read; leave it be
}

// errSpillFull means MaxSpillBytes is reached.
var errSpillFull = errors.New("spill file full (MaxSpillBytes)")

// openSpill looks for the files an earlier Writer left at path; nothing
// is created until a record needs it.
func openSpill(path string, maxBytes int64, log *slog.Logger) *spill {
	base := strings.TrimSuffix(path, filepath.Ext(path))
	s := &spill{
		path:       path,
		replayPath: base + ".replaying.jsonl",
		offsetPath: base + ".replaying.offset",
		max:        maxBytes,
		log:        log,
	}
	if fi, err := os.Stat(path); err == nil {
		s.activeSize = fi.Size()
	}
	if fi, err := os.Stat(s.replayPath); err == nil {
		s.replaying = true
		s.replayLeft = max(fi.Size()-s.readOffset(), 0)
	}
	if s.activeSize > 0 || s.replaying {
		log.Info("usage: found records spilled by an earlier run; they are written first", "file", path, "bytes", s.activeSize+s.replayLeft)
	}
	return s
}

// readOffset returns the committed offset of the replaying file, 0 when
// none is recorded.
func (s *spill) readOffset() int64 {
	b, err := os.ReadFile(s.offsetPath)
	if err != nil {
		return 0
	}
	off, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil || off < 0 {
		s.log.Warn("usage: unreadable spill offset; replaying the file from its start", "file", s.offsetPath)
		return 0
	}
	return off
}

// append writes records to the active file and returns how many it
// wrote: all of them, or those before the first that would pass max
// (errSpillFull), could not be encoded, or met a write error.
func (s *spill) append(records []Record) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.buf = s.buf[:0]
	ends := make([]int, 0, len(records)) // where each record's line ends
	var stop error
	for i := range records {
		line, err := json.Marshal(toSpill(&records[i]))
		if err != nil { // a Time past year 9999
			stop = fmt.Errorf("encode record: %w", err)
			break
		}
		if s.activeSize+s.replayLeft+int64(len(s.buf)+len(line)+1) > s.max {
			stop = fmt.Errorf("%w: %d bytes", errSpillFull, s.max)
			break
		}
		s.buf = append(append(s.buf, line...), '\n')
		ends = append(ends, len(s.buf))
	}
	if len(ends) == 0 {
		return 0, stop
	}
	n, err := s.write(ends)
	if err != nil {
		return n, err
	}
	return n, stop
}

// write appends s.buf, whose lines end at ends, and returns how many of
// the lines reached the file.
func (s *spill) write(ends []int) (int, error) {
	f, err := s.file()
	if err != nil {
		return 0, err
	}
	n, err := f.Write(s.buf[:ends[len(ends)-1]])
	s.activeSize += int64(n)
	lines := 0
	for lines < len(ends) && ends[lines] <= n {
		lines++
	}
	if s.closed {
		err = errors.Join(err, f.Sync(), f.Close())
		s.f = nil
	}
	return lines, err
}

// file returns the active file, opening (and creating) it if need be.
// A file that a crash left with a torn last line gets a newline first, so
// the next record starts a line of its own.
func (s *spill) file() (*os.File, error) {
	if s.f != nil {
		return s.f, nil
	}
	if err := os.MkdirAll(filepath.Dir(s.path), 0o700); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(s.path, os.O_RDWR|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		return nil, errors.Join(err, f.Close())
	}
	s.activeSize = fi.Size()
	if s.activeSize > 0 {
		last := make([]byte, 1)
		if _, err := f.ReadAt(last, s.activeSize-1); err != nil {
			return nil, errors.Join(err, f.Close())
		}
		if last[0] != '\n' {
			if _, err := f.Write([]byte{'\n'}); err != nil {
				return nil, errors.Join(err, f.Close())
			}
			s.activeSize++
		}
	}
	s.f = f
	return f, nil
}

// backlog reports whether records wait in the spill files.
func (s *spill) backlog() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return !s.broken && (s.replaying || s.activeSize > 0)
}

// read returns up to n records of the replaying file, starting a replay
// of the active file when there is none, and the offset just after them,
// for commit. bad counts lines that could not be decoded, skipped. At the
// end of the file it removes it and returns no records.
func (s *spill) read(n int) (records []Record, next int64, bad int, err error) {
	if s.r == nil {
		if err := s.openReplay(); err != nil {
			s.mu.Lock()
			s.broken = true
			s.mu.Unlock()
			return nil, 0, 0, err
		}
		if s.r == nil {
			return nil, 0, 0, nil
		}
	}
	for len(records) < n {
		line, rerr := s.br.ReadBytes('\n')
		s.readOff += int64(len(line))
		if line = bytes.TrimSpace(line); len(line) > 0 {
			var sr spillRecord
			if json.Unmarshal(line, &sr) != nil {
				bad++
			} else {
				records = append(records, sr.record())
			}
		}
		if errors.Is(rerr, io.EOF) {
			break
		}
		if rerr != nil {
			s.mu.Lock()
			s.broken = true
			s.mu.Unlock()
			return nil, 0, bad, rerr
		}
	}
	if len(records) == 0 {
		return nil, s.readOff, bad, s.commit(s.readOff)
	}
	return records, s.readOff, bad, nil
}

// openReplay opens the replaying file at its committed offset, first
// renaming the active file to it when there is none. s.r stays nil when
// there is nothing to replay.
func (s *spill) openReplay() error {
	off := int64(0)
	s.mu.Lock()
	if !s.replaying {
		if s.activeSize == 0 {
			s.mu.Unlock()
			return nil
		}
		if s.f != nil {
			s.f.Close() // appends reopen a new active file
			s.f = nil
		}
		if err := os.Remove(s.offsetPath); err != nil && !errors.Is(err, fs.ErrNotExist) {
			s.mu.Unlock()
			return err
		}
		if err := os.Rename(s.path, s.replayPath); err != nil {
			if errors.Is(err, fs.ErrNotExist) { // removed by hand
				s.activeSize = 0
				err = nil
			}
			s.mu.Unlock()
			return err
		}
		s.replaying, s.replayLeft, s.activeSize = true, s.activeSize, 0
	} else {
		off = s.readOffset()
	}
	s.mu.Unlock()

	f, err := os.Open(s.replayPath)
	if err != nil {
		return err
	}
	fi, err := f.Stat()
	if err == nil {
		_, err = f.Seek(off, io.SeekStart)
	}
	if err != nil {
		return errors.Join(err, f.Close())
	}
	s.r, s.br, s.readOff, s.replaySize = f, bufio.NewReaderSize(f, 64<<10), off, fi.Size()
	return nil
}

// commit records that the replaying file is written up to next; at its
// end the file is removed.
func (s *spill) commit(next int64) error {
	s.mu.Lock()
	s.replayLeft = max(s.replaySize-next, 0)
	s.mu.Unlock()
	if next < s.replaySize {
		tmp := s.offsetPath + ".tmp"
		if err := os.WriteFile(tmp, strconv.AppendInt(nil, next, 10), 0o600); err != nil {
			return err
		}
		return os.Rename(tmp, s.offsetPath)
	}
	err := s.r.Close()
	s.r, s.br = nil, nil
	for _, name := range []string{s.replayPath, s.offsetPath} {
		if rerr := os.Remove(name); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) {
			err = errors.Join(err, rerr)
		}
	}
	s.mu.Lock()
	s.replaying, s.replayLeft = false, 0
	s.mu.Unlock()
	return err
}

// close syncs and closes the files; later appends open and close the
// active file each time.
func (s *spill) close() error {
	var err error
	if s.r != nil {
		err = s.r.Close()
		s.r, s.br = nil, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	if s.f != nil {
		err = errors.Join(err, s.f.Sync(), s.f.Close())
		s.f = nil
	}
	return err
}

// spillRecord is a Record as one JSON line. The names are a file format
// that later versions must keep reading.
type spillRecord struct {
	Time             time.Time `json:"time"`
	RequestID        string    `json:"request_id,omitempty"`
	KeyID            string    `json:"key_id,omitempty"`
	EventID          string    `json:"event_id,omitempty"`
	Attendee         string    `json:"attendee,omitempty"`
	TeamID           string    `json:"team_id,omitempty"`
	BatchID          string    `json:"batch_id,omitempty"`
	Model            string    `json:"model,omitempty"`
	Deployment       string    `json:"deployment,omitempty"`
	Endpoint         string    `json:"endpoint,omitempty"`
	Status           int       `json:"status,omitempty"`
	Attempts         int       `json:"attempts,omitempty"`
	Stream           bool      `json:"stream,omitempty"`
	LatencyNS        int64     `json:"latency_ns,omitempty"`
	TTFBNS           int64     `json:"ttfb_ns,omitempty"`
	PromptTokens     int       `json:"prompt_tokens,omitempty"`
	CompletionTokens int       `json:"completion_tokens,omitempty"`
	TotalTokens      int       `json:"total_tokens,omitempty"`
	CachedTokens     int       `json:"cached_tokens,omitempty"`
	ReasoningTokens  int       `json:"reasoning_tokens,omitempty"`
	AudioSeconds     float64   `json:"audio_seconds,omitempty"`
	Estimated        bool      `json:"estimated,omitempty"`
	// Cost is absent when it is not a finite number, which JSON cannot
	// hold; it reads back as NaN, which the store keeps as unknown.
	Cost     *float64 `json:"cost,omitempty"`
	User     string   `json:"user,omitempty"`
	Prompt   string   `json:"prompt,omitempty"`
	Response string   `json:"response,omitempty"`
}

func toSpill(r *Record) spillRecord {
	sr := spillRecord{
		Time: r.Time, RequestID: r.RequestID, KeyID: r.KeyID, EventID: r.EventID,
		Attendee: r.Attendee, TeamID: r.TeamID, BatchID: r.BatchID, Model: r.Model, Deployment: r.Deployment, Endpoint: r.Endpoint,
		Status: r.Status, Attempts: r.Attempts, Stream: r.Stream,
		LatencyNS: int64(r.Latency), TTFBNS: int64(r.TTFB),
		PromptTokens: r.PromptTokens, CompletionTokens: r.CompletionTokens, TotalTokens: r.TotalTokens,
		CachedTokens: r.CachedTokens, ReasoningTokens: r.ReasoningTokens, AudioSeconds: r.AudioSeconds,
		Estimated: r.Estimated, User: r.User, Prompt: r.Prompt, Response: r.Response,
	}
	if !math.IsNaN(r.Cost) && !math.IsInf(r.Cost, 0) {
		cost := r.Cost
		sr.Cost = &cost
	}
	return sr
}

func (sr *spillRecord) record() Record {
	r := Record{
		Time: sr.Time, RequestID: sr.RequestID, KeyID: sr.KeyID, EventID: sr.EventID,
		Attendee: sr.Attendee, TeamID: sr.TeamID, BatchID: sr.BatchID, Model: sr.Model, Deployment: sr.Deployment, Endpoint: sr.Endpoint,
		Status: sr.Status, Attempts: sr.Attempts, Stream: sr.Stream,
		Latency: time.Duration(sr.LatencyNS), TTFB: time.Duration(sr.TTFBNS),
		PromptTokens: sr.PromptTokens, CompletionTokens: sr.CompletionTokens, TotalTokens: sr.TotalTokens,
		CachedTokens: sr.CachedTokens, ReasoningTokens: sr.ReasoningTokens, AudioSeconds: sr.AudioSeconds,
		Estimated: sr.Estimated, Cost: math.NaN(), User: sr.User,
		Prompt: sr.Prompt, Response: sr.Response,
	}
	if sr.Cost != nil {
		r.Cost = *sr.Cost
	}
	return r
}
