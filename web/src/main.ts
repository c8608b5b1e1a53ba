// The console's entry point: each role gets the views of its job (the API
// decides what each call returns).
import { boot, type Me, type View } from './app';
import { auditorViews } from './views/auditor';
import { operatorViews } from './views/operator';
import { tenantViews } from './views/tenant';

function viewsFor(me: Me): View[] {
  switch (me.role) {
    case 'tenant-admin':
    case 'tenant-app':
      return tenantViews;
    case 'auditor':
      return auditorViews;
    case 'operator-admin':
    case 'operator-legal':
    case 'operator-security':
      return operatorViews;
  }
}

boot(document.getElementById('app')!, viewsFor);
