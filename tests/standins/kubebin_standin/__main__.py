# Copyright: (c) 2026, kubebin.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""python -m kubebin_standin COMPONENT [flags]"""

from kubebin_standin.main import main

main()
