"""`!annonce`, `!annonces`, `!diffusion`: the RUPN's announcements to the diffusion rooms."""
