"""The admins' pages: the flow editor (`/admin/flows`) and the audit log (`/admin/audit`)."""
