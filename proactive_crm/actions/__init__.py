"""Proactive actions: each night decide whom to contact, why, how and when; publish it safely; learn from responses.

- ``policy``: the contact policy file (``config/contact_policy.yml``), validated;
- ``triggers``: candidate actions per action type, from the dbt trigger models (``dbt_project/models/actions``);
- ``priority`` / ``uplift``: expected value of a contact (Beta-Binomial response rates per action type x channel x
  segment, then the two-model XGBoost uplift learner of ``ml/uplift.py`` once enough treated and holdout
  outcomes exist and only while its out-of-fold Qini's lower 95% bound is above zero);
- ``groups``: the global control group and the per-type holdouts (deterministic hashes, the same in SQL);
- ``rules`` / ``windows``: the contact policy's rules and send windows, as pure functions on the candidate frame;
- ``decide`` / ``explain``: the night's decisions with readable reasons into ``actions.decisions`` (audit trail);
  ``decide.evaluate`` chains ``channel_value`` (expected value per channel), ``suppression`` (the policy's rules in
  order, then capacity) and ``decision_rows`` (channel, rank, address, send window, reason text);
- ``publish`` / ``contract`` / ``store``: the published tables and outbox files, atomically, under a versioned
  contract (``CONTRACT.md``), and the schema they live in;
- ``top_actions``: the top actions per channel and the suppression counts, for people.

Nothing here does work at import time.
"""
