// Package norgesbank is a client of Norges Bank's SDMX exchange-rate API
// (/api/data/EXR/B..NOK.SP?format=csvdata): daily rates of about 40
// currencies in Norwegian kroner. Other pairs are crossed through NOK.
//
// Mind UNIT_MULT: some currencies are quoted per 100 units (UNIT_MULT=2,
// e.g. SEK, DKK, JPY, HUF), so the NOK price of one unit is
// OBS_VALUE / 10^UNIT_MULT. The CSV header names the columns; both comma
// and semicolon separators are accepted.
package norgesbank
