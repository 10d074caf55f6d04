// Package ecb is a client of the European Central Bank's euro foreign
// exchange reference rates: the daily file (eurofxref-daily.xml) and the
// history files (eurofxref-hist-90d.xml, eurofxref-hist.xml). Rates are
// quoted as units of currency per euro; any other pair is crossed through
// EUR. The XML uses single quotes in the daily file and double quotes in the
// history files; both parse. Rates are published once per working day
// around 16:00 CET, so quotes are stamped at that time.
package ecb
