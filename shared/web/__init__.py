"""HTTP: authentication, deny-by-default policy and need-to-know, problem+json, limits, headers, the audit trail."""
