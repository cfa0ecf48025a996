package provider

import "net/url"

// NestedURL returns the upstream URL of an operation on an object held
// inside another, {id}{Suffix}/{sub}{SubSuffix} (a vector store's file or
// file batch), or nil when the upstream does not serve op.
func (t *Target) NestedURL(op Operation, id, sub string) *url.URL {
	u := t.ObjectURL(op, id)
	if u == nil {
		return nil
	}
	s := specs[op].SubSuffix
	u.Path += "/" + sub + s
	u.RawPath += "/" + url.PathEscape(sub) + s
	return u
}
