package access

// AppendReset is appendReset, for the reset headers' text tests.
var AppendReset = appendReset
