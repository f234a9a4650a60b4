// Package sqlitestore keeps sessionkit sessions in a SQLite database file.
package sqlitestore
