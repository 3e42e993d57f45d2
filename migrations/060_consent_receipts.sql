-- Consent receipts are sent for changes recorded from now on: the follower that queues them
-- (projections/consent_receipts.py) starts at the ledger's head as it stands when this runs, so
-- an existing ledger's past opt-ins and opt-outs are listed at /v1/public/me/receipts, never mailed.
INSERT INTO projection_tracking (name, position)
SELECT 'consent_receipts', position FROM ledger_head
ON CONFLICT (name) DO NOTHING;
