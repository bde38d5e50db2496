"""Privacy and access: contact details kept apart, erasure that survives re-delivery, retention, database roles.

See the README's "Privacy" section. Modules import nothing heavy at package import (the loader imports
``erasure_list``, ``landing_filter`` and ``raw_purge`` on every file).
"""
