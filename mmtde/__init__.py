# Kept light on purpose: `import mmtde` pulls in no OpenMMLab package.
# Import `mmtde.cls`, `mmtde.det` or `mmtde.engine` to register the components.
from .version import __version__

__all__ = ['__version__']
