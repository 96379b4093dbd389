"""Who may use each route: the one table the permission sweep (tests/test_permissions.py) checks.

Pages: the people allowed (GET and POST alike, or per method). API: the key permission the
route needs. A new route fails the sweep until it has a line here.
"""

from __future__ import annotations

from cueillette.core.permissions import ApiScope

ANONYMOUS = "anonymous"
CUSTOMER = "customer"  # whose space is open in this browser (magic link)
COUNTER = "counter"
MANAGER = "manager"
OWNER = "owner"

Rule = frozenset[str] | dict[str, frozenset[str]]

EVERYONE: frozenset[str] = frozenset({ANONYMOUS, CUSTOMER, COUNTER, MANAGER, OWNER})
STAFF: frozenset[str] = frozenset({COUNTER, MANAGER, OWNER})
MANAGERS: frozenset[str] = frozenset({MANAGER, OWNER})
OWNERS: frozenset[str] = frozenset({OWNER})
THE_CUSTOMER: frozenset[str] = frozenset({CUSTOMER})
NOBODY: frozenset[str] = frozenset()


def allowed(rule: Rule, method: str) -> frozenset[str]:
    return rule.get(method, NOBODY) if isinstance(rule, dict) else rule


S = ApiScope
E, STF, MGR, OWN, CUS = EVERYONE, STAFF, MANAGERS, OWNERS, THE_CUSTOMER

# The staff pages follow core/permissions.py's ROLE_PERMS (named in the comments); public pages
# reached with a capability token (an emailed link) are everyone's: holding it is the right.
PAGES: dict[str, Rule] = {
    "set_language": E,
    "web:landing": E,
    "web:healthz": E,
    "web:home": STF,
    # --- accounts
    "accounts:login": E,
    "accounts:logout": STF,
    "accounts:signup": E,
    "accounts:resend_confirmation": STF,
    "accounts:confirm_email": E,  # token
    "accounts:no_organization": STF,
    "accounts:switch": STF,
    # Managers see the business's settings; changing them is the owner's (MANAGE_ORGANIZATION).
    "accounts:settings": {"get": MGR, "post": OWN},
    "accounts:staff": OWN,  # MANAGE_STAFF
    "accounts:member_role": OWN,
    "accounts:member_remove": OWN,
    "accounts:invitation_revoke": OWN,
    "accounts:invite_accept": E,  # token
    "accounts:password_reset": E,
    "accounts:password_reset_done": E,
    "accounts:password_reset_confirm": E,  # token
    "accounts:password_reset_complete": E,
    # --- customers (SERVE_CUSTOMERS: every role)
    "customers:list": STF,
    "customers:create": STF,
    "customers:duplicate_check": STF,
    "customers:detail": STF,
    "customers:edit": STF,
    "customers:consent": STF,
    "customers:duplicates": MGR,  # MERGE_CUSTOMERS
    "customers:merge": MGR,
    "customers:erase": MGR,  # ERASE_CUSTOMERS
    "customers:care_note_add": MGR,  # VIEW_CARE_NOTES (health data: not counter staff)
    "customers:export": MGR,  # EXPORT_BASE
    "customers:export_data": MGR,  # EXPORT_BASE
    "customers:import": MGR,  # IMPORT_CUSTOMERS
    "customers:audit": OWN,  # VIEW_AUDIT
    "customers:wordings": MGR,  # EDIT_WORDINGS
    "customers:wording_edit": MGR,
    # --- loyalty: the counter serves cards; the program and its figures are managers'
    "loyalty:counter": STF,
    "loyalty:counter_card": STF,
    "loyalty:counter_preview": STF,
    "loyalty:counter_purchase": STF,
    "loyalty:counter_redeem": STF,
    "loyalty:counter_undo": STF,
    "loyalty:counter_customer": STF,
    "loyalty:counter_join": STF,
    "loyalty:adjust": MGR,  # ADJUST_POINTS
    "loyalty:program_settings": MGR,  # MANAGE_PROGRAM
    "loyalty:program_rewards": MGR,
    "loyalty:program_reward_new": MGR,
    "loyalty:program_reward_edit": MGR,
    "loyalty:program_reward_active": MGR,
    "loyalty:program_reward_delete": MGR,
    "loyalty:program_tiers": MGR,
    "loyalty:program_tier_new": MGR,
    "loyalty:program_tier_edit": MGR,
    "loyalty:program_simulate": MGR,
    "loyalty:dashboard": MGR,  # VIEW_LOYALTY_REPORTS
    "loyalty:dashboard_csv": MGR,
    # --- feedback (VIEW_FEEDBACK, MANAGE_FEEDBACK)
    "feedback:nps": MGR,
    "feedback:comments": MGR,
    "feedback:follow_up": MGR,
    "feedback:follow_up_update": MGR,
    "feedback:settings": MGR,
    # messaging: SEND_CAMPAIGNS (campaigns, segments) and MANAGE_MESSAGES (the rest)
    "messaging:campaigns": MGR,
    "messaging:campaign_new": MGR,
    "messaging:campaign": MGR,
    "messaging:campaign_act": MGR,
    "messaging:preview": MGR,
    "messaging:segments": MGR,
    "messaging:segment_new": MGR,
    "messaging:segment": MGR,
    "messaging:automatic": MGR,
    "messaging:pressure": MGR,
    "messaging:suppressions": MGR,
    "messaging:suppression_lift": MGR,
    # --- imports (IMPORT_CUSTOMERS: managers and owners)
    "imports:index": MGR,
    "imports:detail": MGR,
    "imports:check": MGR,
    "imports:start": MGR,
    "imports:progress": MGR,
    "imports:issues_csv": MGR,
    # --- webhooks (MANAGE_WEBHOOKS: the owner alone, secrets and the delivery log)
    "webhooks:index": OWN,
    "webhooks:detail": OWN,
    "webhooks:events": OWN,
    "webhooks:rotate": OWN,
    "webhooks:toggle": OWN,
    "webhooks:remove": OWN,
    "webhooks:replay": OWN,
    # --- referrals (MANAGE_REFERRALS, VIEW_ADVOCATES)
    "referrals:list": MGR,
    "referrals:review": MGR,
    "referrals:decide": MGR,
    "referrals:settings": MGR,
    "referrals:advocates": MGR,
    "referrals:advocate": MGR,
    "referrals:thank": MGR,
    "referrals:figures": MGR,
    "referrals:set_referrer": STF,  # "who sent you?" at the counter too (SERVE_CUSTOMERS)
    # --- API keys (MANAGE_API_KEYS)
    "apikeys:list": MGR,
    "apikeys:create": MGR,
    "apikeys:revoke": MGR,
    # --- community, staff side: every role replies; moderating is managers', appeals owner's
    "community:inbox": STF,
    "community:thread": STF,
    "community:reply": STF,  # REPLY_COMMUNITY
    "community:link": STF,
    "community:themes": STF,
    "community:acknowledge": MGR,  # MODERATE_COMMUNITY
    "community:status": MGR,
    "community:hide": MGR,
    "community:restore": MGR,
    "community:hide_reply": MGR,
    "community:decide_appeal": OWN,  # DECIDE_APPEALS
    "community:dashboard": MGR,  # VIEW_COMMUNITY_DASHBOARD
    "community:settings": MGR,
    "community:reanalyse": MGR,
    # --- insights (VIEW_INSIGHTS, MANAGE_INSIGHTS: owner and manager)
    "insights:overview": MGR,
    "insights:segment": MGR,
    "insights:call_list": MGR,
    "insights:contacts_csv": MGR,
    "insights:at_risk": MGR,
    "insights:model": MGR,
    "insights:refresh": MGR,
    "insights:lost": MGR,
    "insights:changes": MGR,
    "insights:change": MGR,
    "insights:link_change": MGR,
    "insights:cohorts": MGR,
    "insights:reasons": MGR,
    "insights:reason_edit": MGR,
    "insights:customer": MGR,
    "insights:customer_reason": MGR,
    "insights:customer_note": MGR,
    "insights:customer_survey": MGR,
    # --- public pages of a business
    "public:exit_survey": E,  # token
    # --- sessions, staff side: every role runs the door; offering them is managers'
    "events:index": STF,  # VIEW_EVENTS
    "events:session": STF,
    "events:scan": STF,  # RUN_EVENTS
    "events:walk_in": STF,
    "events:check_in": STF,
    "events:cancel_registration": STF,
    "events:session_new": MGR,  # MANAGE_EVENTS
    "events:series_new": MGR,
    "events:series": MGR,
    "events:session_edit": MGR,
    "events:session_cancel": MGR,
    # --- public pages of a business
    "public:events": E,
    "public:events_feed": E,
    "public:events_calendar": E,
    "public:event_detail": E,
    "public:event_sent": E,
    "public:event_confirm": E,  # token
    "public:event_registration": E,  # token
    "public:event_cancel": E,  # token
    "public:event_accept": E,  # token
    "public:event_ics": E,  # token
    "public:event_feedback": E,  # token
    "public:join": E,
    "public:join_done": E,
    "public:poster": E,
    "public:poster_qr": E,
    "public:confirm_email": E,  # token
    "public:portal_request": E,
    "public:portal_open": E,  # token
    "public:wallet": E,  # token
    "public:wallet_manifest": E,
    "public:wallet_sw": E,
    "public:community": E,
    "public:community_new": E,
    "public:community_new_sent": E,
    "public:community_feed": E,
    "public:community_post": E,
    "public:community_unsubscribe": E,  # token
    "public:community_confirm": E,  # token
    "public:community_answer": E,  # an open space answers at once, anyone else by email
    "public:community_answer_appeal": E,
    "public:community_resolve": CUS,  # the author's own, from their open space
    "public:community_withdraw": CUS,
    "public:referral_landing": E,  # the referrer's code
    "public:referral_joined": E,
    "public:survey": E,  # token
    "public:survey_unsubscribe": E,  # token
    "public:messaging_unsubscribe": E,  # token
    "messaging_bounce_webhook": E,  # a provider's server; the shared secret (404 without it)
    # --- the customer's space (magic link)
    "public:portal": CUS,
    "public:portal_edit": CUS,
    "public:portal_consent": CUS,
    "public:portal_export": CUS,
    "public:portal_erase": CUS,
    "public:portal_logout": CUS,
    "public:loyalty": CUS,
    "public:loyalty_join": CUS,
    "public:loyalty_leave": CUS,
    "public:loyalty_card_print": CUS,
    "public:community_edit": CUS,
    "public:community_me_too": CUS,
    "public:community_subscribe": CUS,
    "public:community_appeal": CUS,
    "public:referral_share": CUS,
    "public:referral_qr": CUS,
}

# Pages of the customer's space: refused means "ask for a link to open your space".
CUSTOMER_SPACE: frozenset[str] = frozenset(name for name, rule in PAGES.items() if rule is CUS)

# Signing out answers everyone with the sign-in page: the sweep only checks that it writes
# nothing for someone with nothing to sign out of.
SIGN_OUT: frozenset[str] = frozenset({"accounts:logout", "public:portal_logout"})

# The one permission an API key needs for each route (the route declares it with @requires;
# the sweep checks that both say the same).
API: dict[str, ApiScope] = {
    "GET /api/v1/customers": S.CUSTOMERS_READ,
    "POST /api/v1/customers": S.CUSTOMERS_WRITE,
    "GET /api/v1/customers/{customer_id}": S.CUSTOMERS_READ,
    "PATCH /api/v1/customers/{customer_id}": S.CUSTOMERS_WRITE,
    "POST /api/v1/customers/{customer_id}/merge": S.CUSTOMERS_MERGE,
    "GET /api/v1/customers/{customer_id}/consents": S.CUSTOMERS_READ,
    "POST /api/v1/customers/{customer_id}/consents": S.CONSENTS_WRITE,
    "GET /api/v1/customers/{customer_id}/consents/current": S.CUSTOMERS_READ,
    "GET /api/v1/messaging/campaigns": S.MESSAGING_READ,
    "POST /api/v1/messaging/campaigns": S.MESSAGING_SEND,
    "GET /api/v1/messaging/campaigns/{campaign_id}/audience": S.MESSAGING_READ,
    "POST /api/v1/messaging/campaigns/{campaign_id}/send": S.MESSAGING_SEND,
    "GET /api/v1/messaging/suppressions": S.MESSAGING_READ,
    "POST /api/v1/messaging/suppressions": S.MESSAGING_SEND,
    "GET /api/v1/feedback/nps": S.FEEDBACK_READ,
    "GET /api/v1/feedback/responses": S.FEEDBACK_READ,
    "PATCH /api/v1/feedback/responses/{response_id}/follow-up": S.FEEDBACK_MANAGE,
    "POST /api/v1/referrals": S.REFERRALS_WRITE,
    "GET /api/v1/referrals": S.REFERRALS_READ,
    "GET /api/v1/referrals/{referral_id}": S.REFERRALS_READ,
    "POST /api/v1/referrals/{referral_id}/confirm": S.REFERRALS_MANAGE,
    "POST /api/v1/referrals/{referral_id}/reject": S.REFERRALS_MANAGE,
    "GET /api/v1/referrals/advocates": S.REFERRALS_READ,
    "GET /api/v1/referrals/advocates/{customer_id}": S.REFERRALS_READ,
    "GET /api/v1/community/posts": S.COMMUNITY_READ,
    "GET /api/v1/community/posts/{post_id}": S.COMMUNITY_READ,
    "GET /api/v1/community/moderation-log": S.COMMUNITY_READ,
    "POST /api/v1/community/posts/{post_id}/replies": S.COMMUNITY_REPLY,
    "POST /api/v1/community/posts/{post_id}/status": S.COMMUNITY_MODERATE,
    "POST /api/v1/community/posts/{post_id}/acknowledge": S.COMMUNITY_MODERATE,
    "POST /api/v1/community/posts/{post_id}/hide": S.COMMUNITY_MODERATE,
    "POST /api/v1/community/posts/{post_id}/restore": S.COMMUNITY_MODERATE,
    "POST /api/v1/community/replies/{reply_id}/hide": S.COMMUNITY_MODERATE,
    "POST /api/v1/community/posts/{post_id}/customer": S.COMMUNITY_REPLY,
    "POST /api/v1/community/posts/{post_id}/themes": S.COMMUNITY_REPLY,
    "POST /api/v1/purchases": S.LOYALTY_WRITE,
    "POST /api/v1/refunds": S.LOYALTY_WRITE,
    "POST /api/v1/redemptions": S.LOYALTY_WRITE,
    "POST /api/v1/cards": S.LOYALTY_WRITE,
    "GET /api/v1/cards/{number}": S.LOYALTY_READ,
    "GET /api/v1/cards/{number}/history": S.LOYALTY_READ,
    "GET /api/v1/customers/{customer_id}/card": S.LOYALTY_READ,
    "GET /api/v1/rewards": S.LOYALTY_READ,
    "GET /api/v1/insights/customers/{customer_id}": S.INSIGHTS_READ,
    "GET /api/v1/insights/segments": S.INSIGHTS_READ,
    "GET /api/v1/insights/lost-revenue": S.INSIGHTS_READ,
    "GET /api/v1/events/sessions": S.EVENTS_READ,
    "POST /api/v1/events/sessions": S.EVENTS_MANAGE,
    "GET /api/v1/events/sessions/{session_id}": S.EVENTS_READ,
    "PATCH /api/v1/events/sessions/{session_id}": S.EVENTS_MANAGE,
    "GET /api/v1/events/sessions/{session_id}/registrations": S.EVENTS_READ,
    "POST /api/v1/events/sessions/{session_id}/registrations": S.EVENTS_WRITE,
    "POST /api/v1/events/registrations/{registration_id}/cancel": S.EVENTS_WRITE,
    "POST /api/v1/events/registrations/{registration_id}/check-in": S.EVENTS_WRITE,
}
