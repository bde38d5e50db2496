"""Privacy and access: contact details kept apart, erasure that survives re-delivery, retention, database roles.

See the README's "Privacy" section. Privacy depends on landing, never the other way: what the loader applies to
every file (the erasure list, dropping erased rows, deleting raw rows tied to an erasure) lives in
``proactive_crm.landing`` (``erasure_list``, ``erased_rows``, ``raw_purge``), and the erasure here uses it.
"""
