/** Usage of one tenant in one period (a calendar month, UTC): what invoices are computed from. */
export interface UsageTotals {
  messages_sent: number;
  /** Distinct end users who sent a message, made an authenticated request or connected. */
  active_users: number;
  peak_connections: number;
  /** Highest stored bytes sampled in the period. */
  storage_bytes: number;
  api_calls: number;
}
