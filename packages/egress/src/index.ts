// The destination policy shared by a script's fetch and an app's SMTP server,
// and the host's HTTP client for fetch. Exports are added as they land.
export {};
